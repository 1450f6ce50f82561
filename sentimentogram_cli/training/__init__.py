"""Training and evaluation of the emotion head, from corpora in a folder the caller names
(``sentimentogram train --data FOLDER``); nothing here assumes where that folder is."""
