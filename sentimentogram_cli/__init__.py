"""sentimentogram: emotion-styled, word-synchronized subtitles as one HTML page.

The Python API (the command line is a thin layer over it)::

    import sentimentogram_cli as sg
    analyser = sg.Analyser(device="auto", asr_model="base")   # models load lazily, once
    analysis = analyser.analyse("talk.mp4", sg.AnalysisOptions(language="en"))  # or (array, sample_rate=)
    html = sg.render_page(analysis, sg.Style(culture="eastern"), media="talk.mp4")
    sg.write(analysis, "talk.vtt")                            # format from the suffix
    sg.render("talk.mp4", output=sg.OutputOptions(formats=("html", "json")))  # what `render` does

Data flow by module: ``media`` (ffmpeg) -> ``transcription/`` (words) -> ``speakers/``,
``emotion/``, ``prosody/`` (who, how, how stressed) -> ``captions/`` -> ``document`` (the analysis
document) -> ``typography`` + ``style`` -> ``output/`` (page, subtitles, burned video);
``analyser`` chains the analysis stages, ``jobs`` whole jobs from an input to its files (render,
restyle, burn). The package ships ``py.typed``: its annotations are for type checkers too.
"""

from .analyser import STAGES, Analyser, AnalysisOptions, analyse
from .document import (SCHEMA_VERSION, AnalysedWord, Analysis, Cue, Line, Prosody, Segment, Speaker, Word,
                       WordEmotion)
from .analysis_cache import AnalysisCache
from .constants import FORMATS, SAMPLE_RATE, VERSION
from .errors import (DocumentError, ExitStatus, InputError, MediaError, ModelError, NoAudioError, OutputError,
                     SentimentogramError, UsageError)
from .media import MediaInfo, decode_audio, probe
from .output.page import render_page
from .output.writers import get_writer, write
from .jobs import AnalysisSource, BurnResult, BurnStatus, OutputOptions, RenderResult, RenderStatus, burn, render, restyle
from .transcription.transcribe import Transcript
from .style import Style

__version__ = VERSION

__all__ = [
    "__version__",
    # analysis
    "Analyser", "AnalysisOptions", "analyse", "STAGES", "AnalysisCache",
    # media in
    "probe", "MediaInfo", "decode_audio", "SAMPLE_RATE", "Word", "Segment", "Transcript",
    # the document
    "Analysis", "Line", "AnalysedWord", "WordEmotion", "Prosody", "Speaker", "Cue", "SCHEMA_VERSION",
    # styling and output
    "Style", "render_page", "write", "get_writer", "FORMATS",
    # whole jobs
    "render", "restyle", "burn", "OutputOptions", "RenderResult", "BurnResult", "RenderStatus", "BurnStatus",
    "AnalysisSource",
    # errors
    "ExitStatus", "SentimentogramError", "UsageError", "InputError", "MediaError", "DocumentError",
    "NoAudioError", "OutputError", "ModelError",
]
