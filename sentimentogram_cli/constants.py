"""Numbers and names shared by every stage (one place, as in openai/whisper)."""

VERSION = "0.1.0"  # the package's; pyproject.toml carries the same

SAMPLE_RATE = 16_000
CHUNK_SECONDS = 30  # Whisper encoder input length
CHUNK_SAMPLES = SAMPLE_RATE * CHUNK_SECONDS
ENCODER_FRAMES_PER_SECOND = 50  # Whisper encoder output rate
FRAME_STRIDE = 2  # frames are average-pooled in pairs: 25 frames/s reach the emotion head
HEAD_FRAMES_PER_SECOND = ENCODER_FRAMES_PER_SECOND // FRAME_STRIDE

WINDOW_SECONDS = 3.0
HOP_SECONDS = 1.0
MAX_TEXT_TOKENS = 64

EMOTIONS = ("neutral", "happy", "sad", "angry", "fear", "disgust", "surprise")

# Valence, arousal, dominance on [0, 1] for each category, from the NRC VAD Lexicon v1
# (Mohammad, 2018, ACL) entries: neutral, joy, sadness, anger, fear, disgust, surprise.
CATEGORY_VAD = {
    "neutral": (0.469, 0.184, 0.357),
    "happy": (0.980, 0.824, 0.794),
    "sad": (0.052, 0.288, 0.164),
    "angry": (0.167, 0.865, 0.657),
    "fear": (0.073, 0.840, 0.293),
    "disgust": (0.052, 0.775, 0.317),
    "surprise": (0.875, 0.875, 0.562),
}

CULTURES = ("western", "eastern", "accessible")
AGE_GROUPS = ("child", "teen", "adult", "senior")

AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".m4a", ".ogg", ".opus", ".aac", ".wma")

FORMATS = ("html", "json", "vtt", "srt", "ass")  # output formats, in the order they are listed

# The language codes Whisper knows (faster-whisper's tokenizer; a test keeps them equal), so a bad
# --language fails when given, before any model loads.
LANGUAGES = ("af", "am", "ar", "as", "az", "ba", "be", "bg", "bn", "bo", "br", "bs", "ca", "cs", "cy", "da", "de",
             "el", "en", "es", "et", "eu", "fa", "fi", "fo", "fr", "gl", "gu", "ha", "haw", "he", "hi", "hr", "ht",
             "hu", "hy", "id", "is", "it", "ja", "jw", "ka", "kk", "km", "kn", "ko", "la", "lb", "ln", "lo", "lt",
             "lv", "mg", "mi", "mk", "ml", "mn", "mr", "ms", "mt", "my", "ne", "nl", "nn", "no", "oc", "pa", "pl",
             "ps", "pt", "ro", "ru", "sa", "sd", "si", "sk", "sl", "sn", "so", "sq", "sr", "su", "sv", "sw", "ta",
             "te", "tg", "th", "tk", "tl", "tr", "tt", "uk", "ur", "uz", "vi", "yi", "yo", "zh", "yue")

# Prosody and emphasis (issue 20; prosody/). Pitch range of speech for Praat's tracker (Hz), the
# shortest word measured (s), and the emphasis scale: a word's emphasis is 1 - exp(-x), x the sum of
# its rises above its speaker's baseline in these units; emphasised from EMPHASIS_THRESHOLD.
# Chosen on validation speakers (benchmarks/emphasis.py --tune: RAVDESS actors 1-16, nEMO KS0 and
# KD0), never on its test clips: the boosted word won 21 of 24 validation clips and 14% of the
# words of ordinary validation talks were emphasised. 0.9 means a rise of 2.3 units: 4.6 dB alone,
# or e.g. 2 dB and 8 semitones. Pitch and duration count less than loudness because Whisper's
# word spans and acted pitch swings make them noisier (wider units were chosen on the grid).
PROSODY_PITCH_FLOOR = 75.0
PROSODY_PITCH_CEILING = 500.0
PROSODY_MIN_WORD = 0.05
EMPHASIS_DB = 2.0
EMPHASIS_SEMITONES = 6.0
EMPHASIS_OCTAVES = 1.5
EMPHASIS_THRESHOLD = 0.9

# Speaker colours (issue 21), in the order speakers are first heard: Okabe & Ito's colour-blind
# safe palette, its colours that read on the page's and the captions' dark backgrounds first.
SPEAKER_COLOURS = ("#56B4E9", "#E69F00", "#009E73", "#CC79A7", "#F0E442", "#D55E00", "#0072B2", "#BBBBBB")
