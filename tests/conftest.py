"""Shared fixtures: the CLI run in-process (as httpie tests do), with its exit code and output."""

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _private_analysis_cache(tmp_path_factory, monkeypatch):
    """Each test gets its own analysis cache: a cache hit from another test (or the user's own
    ~/.cache) must not change what a test sees."""
    monkeypatch.setenv("SENTIMENTOGRAM_CACHE_DIR", str(tmp_path_factory.mktemp("analysis-cache")))


@pytest.fixture
def run_cli(capsys):
    from sentimentogram_cli.cli import main

    def run(args: list[str]) -> tuple[int, str]:
        code = main(args)  # never SystemExit: main returns the status
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    return run


@pytest.fixture(scope="session")
def make_analysis():
    """Builds a real Analysis from word texts: evenly timed, emotions cycling over EMOTIONS.

    ``make_analysis(["Hello", "world"], step=0.3, per_line=5)``; pass ``emotions=[...]`` or
    ``confidence=`` to pin them; the VAD of each word is its emotion's typical VAD.
    """
    from sentimentogram_cli.document import AnalysedWord, Analysis, Line, WordEmotion
    from sentimentogram_cli.constants import CATEGORY_VAD, EMOTIONS

    def build(texts, *, start=0.5, step=0.3, per_line=5, emotions=None, confidence=0.9,
              media_kind="video", duration=None, source="clip.mp4"):
        words = []
        for i, text in enumerate(texts):
            emotion = (emotions or EMOTIONS)[i % len(emotions or EMOTIONS)]
            v, a, d = CATEGORY_VAD.get(emotion, CATEGORY_VAD["neutral"])
            audio = 0.3 + 0.4 * (i % 3) / 2
            feeling = WordEmotion(emotion=emotion, confidence=confidence,
                                  probabilities={e: (confidence if e == emotion else
                                                     (1 - confidence) / (len(EMOTIONS) - 1))
                                                 for e in EMOTIONS},
                                  valence=v, arousal=a, dominance=d,
                                  audio_gate=audio, text_gate=1 - audio)
            t0 = round(start + i * step, 3)
            words.append(AnalysedWord(text=f" {text}", start=t0, end=round(t0 + step * 0.9, 3),
                                      probability=0.95, emotion=feeling))
        lines = [Line(start=chunk[0].start, end=chunk[-1].end, words=chunk)
                 for chunk in (words[i:i + per_line] for i in range(0, len(words), per_line))]
        end = words[-1].end + 0.5 if words else 1.0
        return Analysis(source=source, media_kind=media_kind, duration=duration or end,
                        language="en", labels=list(EMOTIONS), lines=lines)

    return build


@pytest.fixture(scope="session")
def chromium_executable():
    """Debian's chromium for the browser tests; they are skipped, with the reason, without it."""
    from pathlib import Path

    path = Path("/usr/bin/chromium")
    if not path.exists():
        pytest.skip("browser test needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="browser test needs the playwright package")
    return str(path)


@pytest.fixture(scope="module")
def browser(chromium_executable):
    """Headless Chromium with the flags this closed network needs (no background requests)."""
    from playwright.sync_api import sync_playwright

    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--autoplay-policy=no-user-gesture-required"]
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium_executable, args=args)
        yield instance
        instance.close()


# ---- media, data and cached analyses shared by the tests ------------------------------------

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"  # the project's corpora, beside the repository


RAVDESS = SHARED_DATA / "emotional_speech" / "ravdess"


def trimmed_clip(path) -> np.ndarray:
    """A RAVDESS clip (16 kHz mono) with its leading and trailing silence cut (10 ms frames under
    6% of the loudest frame's RMS): one voice's turn, as the speaker tests lay them out."""
    import soundfile as sf

    audio, _ = sf.read(path, dtype="float32")
    frame = 160
    rms = np.sqrt(np.mean(audio[: len(audio) // frame * frame].reshape(-1, frame) ** 2, axis=1))
    loud = np.flatnonzero(rms > rms.max() * 0.06)
    return audio[loud[0] * frame: (loud[-1] + 1) * frame]


def make_video_file(path, seconds: float = 3, *, audio=None, tone: bool = False, size=(64, 48), rate: int = 5,
                    color: str = "black"):
    """A real video made by ffmpeg: a plain picture with silence, a 440 Hz tone, or ``audio``."""
    import subprocess

    sound = (["-i", str(audio)] if audio else
             ["-f", "lavfi", "-i", f"sine=f=440:r=16000:d={seconds}" if tone else f"anullsrc=r=16000:cl=mono:d={seconds}"])
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"color=c={color}:s={size[0]}x{size[1]}:r={rate}:d={seconds}", *sound, "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)], check=True)
    return path


@pytest.fixture(scope="session")
def make_video():
    """``make_video(path, seconds=3, audio=None, tone=False, size=(64, 48), rate=5, color="black")``."""
    return make_video_file


def make_small_head(path, audio_encoder: str = "whisper-base"):
    """A randomly initialised emotion head, saved and loaded back through the checkpoint format
    (its predictions mean nothing: for tests of the code path, not of accuracy)."""
    import numpy as np
    import torch

    from sentimentogram_cli.constants import EMOTIONS
    from sentimentogram_cli.emotion.features import AUDIO_FEATURES, TextEncoder
    from sentimentogram_cli.emotion.fusion import FusedEmotionModel, FusionConfig
    from sentimentogram_cli.emotion.head import EmotionHead, HeadMetadata

    torch.manual_seed(0)
    model = FusedEmotionModel(FusionConfig(labels=EMOTIONS, dim=32, heads=2))
    meta = HeadMetadata(version="test-random", audio_encoder=audio_encoder, text_encoder=TextEncoder.identity,
                        feature_convention=AUDIO_FEATURES, window_seconds=3.0, hop_seconds=1.0, audio_layers=(6,))
    EmotionHead(model, meta, np.zeros(512, np.float32), np.ones(512, np.float32)).save(path)
    return EmotionHead.load(path, audio_encoder=audio_encoder, text_encoder=TextEncoder.identity)


@pytest.fixture(scope="session")
def small_head():
    """``small_head(path, audio_encoder="whisper-base")``: writes a small random head to ``path``."""
    return make_small_head


@pytest.fixture(scope="session")
def shared_data():
    """The project's data folder (``../shared/data``); tests that need it are skipped without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"needs the project's data folder at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def seed_analysis(make_analysis):
    """Stores an analysis (built by ``make_analysis``) in the test's analysis cache under the key
    the default Analyser computes for ``media``: a render then finds it there and runs no model,
    exactly as after an earlier render of the same bytes. Returns the Analysis stored."""
    from sentimentogram_cli.analyser import Analyser, AnalysisOptions
    from sentimentogram_cli.analysis_cache import AnalysisCache

    def seed(media, words=("Hello", "world", "again"), options=None, analyser=None, **kwargs):
        cache = AnalysisCache()
        analysis = make_analysis(list(words), source=Path(media).name, **kwargs)
        cache.store((analyser or Analyser()).cache_key(Path(media), options or AnalysisOptions(), cache), analysis)
        return analysis

    return seed


# ---- the slow mark: a test that runs a real model says so --------------------------------------

# What running a real model means here: Whisper decoding or language detection (faster-whisper or
# openai-whisper) and the emotion encoders (Whisper layers in torch, MiniLM). A test without the
# slow mark that reaches one fails at once, naming it, so `pytest -m "not slow"` stays fast.
_REAL_MODEL_CALLS = (("faster_whisper", "WhisperModel", "transcribe"),
                     ("faster_whisper", "WhisperModel", "detect_language"),
                     ("sentimentogram_cli.emotion.features", "AudioEncoder", "encode"),
                     ("sentimentogram_cli.emotion.features", "AudioEncoder", "encode_clips"),
                     ("sentimentogram_cli.emotion.features", "TextEncoder", "embed"))


@pytest.fixture(autouse=True)
def _real_models_need_the_slow_mark(request, monkeypatch):
    if request.node.get_closest_marker("slow"):
        return
    import importlib

    for module, cls, method in _REAL_MODEL_CALLS:
        def refuse(*args, _what=f"{cls}.{method}", **kwargs):
            pytest.fail(f"runs a real model ({_what}): mark the test @pytest.mark.slow", pytrace=False)

        monkeypatch.setattr(getattr(importlib.import_module(module), cls), method, refuse)
