"""The output side: an analysis and a style choice in, files out.

``paths`` plans where each output goes and checks it can be written before any model runs;
``page`` renders the HTML page (through the one Jinja environment in ``templates``);
``subtitles`` and ``ass`` serialise WebVTT, SRT and ASS; ``writers`` puts one writer per format
behind ``get_writer`` and writes atomically; ``burn`` draws the ASS subtitles into a video copy.
Nothing here runs a model or imports the analysis stages.
"""
