"""Speaker turns (issue 21): clustering on synthetic embeddings, the number of speakers, a change
of speaker inside one Whisper segment (real voices, the real encoder), loops across segments and
a two-speaker render end to end. Speakers in the document and each export: test_speaker_exports.py;
the CAM++ encoder and the two encoders' mix: test_voice_encoders.py."""

from __future__ import annotations

import numpy as np
import pytest

from sentimentogram_cli.document import Segment, Word
from sentimentogram_cli.speakers import parse_speakers, split_segments
from sentimentogram_cli.speakers.turns import agglomerate, cluster, cut_pieces, turns_from_embeddings
from sentimentogram_cli.errors import UsageError

from conftest import RAVDESS, trimmed_clip  # the corpora and a clip without its silences, in one place

needs_data = pytest.mark.skipif(not RAVDESS.is_dir(), reason="RAVDESS not found in ../shared/data")


def _voices(n_speakers: int, per_speaker: int, spread: float, seed: int = 0, dim: int = 256):
    """Unit vectors around ``n_speakers`` centres that share half their direction (voices are
    alike: centres' cosine about 0.5, as GE2E's between different people); ``spread`` is the
    noise's norm relative to a centre's (0.45: two takes of one voice at cosine about 0.83)."""
    rng = np.random.default_rng(seed)
    unit = lambda v: v / np.linalg.norm(v, axis=-1, keepdims=True)  # noqa: E731
    common = unit(rng.normal(size=dim))
    centres = unit(common + unit(rng.normal(size=(n_speakers, dim))))
    x, labels = [], []
    for k, c in enumerate(centres):
        for _ in range(per_speaker):
            x.append(unit(c + spread * unit(rng.normal(size=dim))))
            labels.append(k)
    return np.array(x), np.array(labels)


# The synthetic voices are shaped like raw GE2E embeddings (voices at cosine ~0.5), so the
# clustering tests use the raw embeddings' threshold (chosen on validation before the shipped
# projection: benchmarks/speakers.py --no-projection), not MERGE_DISTANCE (projected embeddings).
RAW = 0.425


def _same_partition(a, b) -> bool:
    return len(set(zip(a, b))) == len(set(a)) == len(set(b))


@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize("linkage, threshold", [("average", RAW), ("complete", 0.45)])
def test_auto_finds_the_number_of_speakers(n, linkage, threshold):
    """Both linkages benchmarks/speakers.py chooses between (complete: the farthest pair of two
    groups, so its threshold sits between the within-voice and the between-voice distances)."""
    x, truth = _voices(n, 8, spread=0.45, seed=n)
    labels = cluster(x, np.full(len(x), 2.0), merge_distance=threshold, linkage=linkage)
    assert _same_partition(labels, truth)


def test_a_number_asks_for_that_many():
    x, truth = _voices(3, 6, spread=0.45)
    assert _same_partition(cluster(x, np.full(len(x), 2.0), 3), truth)
    assert len(set(cluster(x, np.full(len(x), 2.0), 2))) == 2
    assert set(cluster(x, np.full(len(x), 2.0), 1)) == {0}


def test_one_voice_with_spread_is_one_speaker():
    x, _ = _voices(1, 30, spread=0.6, seed=5)
    assert set(cluster(x, np.full(len(x), 2.0), merge_distance=RAW)) == {0}


def test_a_rare_outlier_is_folded_in_and_short_pieces_join_the_nearest():
    x, truth = _voices(2, 10, spread=0.45, seed=3)
    durations = np.full(len(x), 2.0)
    durations[[0, 10]] = 0.3  # one-word turns: not clustered, they join the nearest speaker
    labels = cluster(x, durations, merge_distance=RAW)
    assert _same_partition(labels, truth)


@pytest.mark.parametrize("linkage", ["average", "complete"])
def test_agglomerate_is_scikit_learns_clustering_without_importing_it(linkage):
    """turns.agglomerate (SciPy's tree, cut as scikit-learn cuts it; issue 25) labels pieces as
    AgglomerativeClustering did, numbering included, by distance and by number of clusters."""
    from sklearn.cluster import AgglomerativeClustering

    rng = np.random.default_rng(7)
    for trial in range(40):
        x, _ = _voices(int(rng.integers(1, 5)), int(rng.integers(2, 12)), spread=float(rng.uniform(0.3, 0.9)),
                       seed=trial, dim=32)
        x = x.astype(np.float32)
        for n in (None, 1, 2, 3):
            if n is not None and n > len(x):
                continue
            want = AgglomerativeClustering(n_clusters=n, distance_threshold=None if n else RAW, metric="cosine",
                                           linkage=linkage).fit_predict(x)
            assert np.array_equal(agglomerate(x, linkage, n, RAW), want)


def test_parse_speakers():
    assert parse_speakers("auto") == "auto" and parse_speakers("OFF") == "off" and parse_speakers("3") == 3
    for bad in ("0", "27", "two", "-1"):
        with pytest.raises(UsageError):
            parse_speakers(bad)


def _words(spec):
    return [Word(f" w{i}", a, b, 0.9) for i, (a, b) in enumerate(spec)]


def test_pieces_cut_at_pauses_and_at_max_length():
    words = _words([(0, 0.3), (0.35, 0.6), (1.0, 1.3), (1.32, 1.6)] + [(2 + 0.4 * i, 2.35 + 0.4 * i) for i in range(12)])
    pieces = cut_pieces(words, gap=0.2, max_piece=3.0)
    assert [(p.first, p.stop) for p in pieces][:2] == [(0, 2), (2, 4)]
    assert all(p.duration <= 3.0 for p in pieces)
    assert [i for p in pieces for i in range(p.first, p.stop)] == list(range(len(words)))


def test_a_change_inside_a_segment_splits_it():
    words = _words([(0, 0.4), (0.5, 0.9), (1.5, 1.9), (2.0, 2.4)])
    segments = [Segment(0, 2.4, "w0 w1 w2 w3", words)]
    parts = split_segments(segments, ["A", "A", "B", "B"])
    assert [(s.text, who) for s, who in parts] == [("w0 w1", "A"), ("w2 w3", "B")]


def test_turns_ids_by_first_appearance_and_talk_time():
    words = _words([(0, 1.0), (1.5, 2.5), (3, 4.0), (4.5, 5.5)])
    pieces = cut_pieces(words)
    x, _ = _voices(2, 2, spread=0.2, seed=9)
    emb = x[[2, 0, 3, 1]]  # second voice first
    turns = turns_from_embeddings(words, pieces, emb, 2)
    assert turns.word_speakers == ["A", "B", "A", "B"]
    assert [(s.id, s.talk_time) for s in turns.speakers] == [("A", 2.0), ("B", 2.0)]


def test_mel_spectrogram_matches_librosa():
    librosa = pytest.importorskip("librosa", reason="librosa is the reference for the encoder's mel")
    from sentimentogram_cli.speakers.encoder import mel_spectrogram

    x = np.random.default_rng(0).normal(size=12345).astype(np.float32) * 0.1
    ref = librosa.feature.melspectrogram(y=x, sr=16000, n_fft=400, hop_length=160, n_mels=40, pad_mode="reflect").T
    assert np.allclose(mel_spectrogram(x), ref, rtol=1e-4, atol=1e-6 * ref.max())


def test_embed_streams_pieces_with_the_same_result():
    """``embed`` takes a generator and gives what it gives for the list (the same batches), which
    matches embedding every partial in one batch; its memory does not grow with the number of
    pieces (issue 25): the peak for 150 pieces is that for 30, give or take the (n, 256) sums."""
    import tracemalloc

    from sentimentogram_cli.speakers import SpeakerEncoder
    from sentimentogram_cli.speakers.encoder import PARTIAL_FRAMES, mel_spectrogram

    encoder = SpeakerEncoder("cpu")
    rng = np.random.default_rng(3)
    lengths = [0.3, 1.0, 1.6, 2.5, 4.2, 0.8, 3.0]
    pieces = [(rng.normal(size=int(s * 16000)) * 0.05).astype(np.float32) for s in lengths]
    as_list = encoder.embed(pieces, batch=4)
    assert np.array_equal(encoder.embed((p for p in pieces), batch=4), as_list)
    # the reference: every piece's partials through the network at once, averaged per piece
    from sentimentogram_cli.speakers.encoder import _levelled, _partial_starts

    partials, owner = [], []
    for k, wav in enumerate(pieces):
        mel = mel_spectrogram(_levelled(wav))
        starts = _partial_starts(len(mel))
        partials += [mel[s: s + PARTIAL_FRAMES] for s in starts]
        owner += [k] * len(starts)
    assert len(partials) > 4  # several batches above
    one = encoder._forward(partials)
    ref = np.stack([one[np.asarray(owner) == k].sum(0) for k in range(len(pieces))])
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    assert np.allclose(as_list, ref, atol=1e-5)

    def peak(n: int) -> int:
        gen = ((rng.normal(size=32000) * 0.05).astype(np.float32) for _ in range(n))
        tracemalloc.start()
        encoder.embed(gen, batch=8)
        top = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return top

    assert peak(150) - peak(30) < 2 ** 20  # the (n, 256) sums (~0.3 MB), not the 120 more pieces' audio (15 MB)


@needs_data
def test_real_voices_change_inside_one_segment():
    """A man and a woman take turns with 0.4 s pauses inside ONE recogniser segment: each word
    (here: each half of each clip) gets the speaker who said it."""
    from sentimentogram_cli.speakers import VoiceEncoder, find_turns

    actors = {"m": sorted((RAVDESS / "Actor_03").glob("*.opus")), "f": sorted((RAVDESS / "Actor_04").glob("*.opus"))}
    order = ["m", "f", "m", "f", "f", "m"]
    audio, words, truth, t = [np.zeros(8000, np.float32)], [], [], 0.5
    for i, who in enumerate(order):
        clip = trimmed_clip(actors[who][7 * i])
        d = len(clip) / 16000
        words += [Word(" a", t, t + d / 2 - 0.02, 0.9), Word(" b", t + d / 2, t + d, 0.9)]
        truth += [who, who]
        audio += [clip, np.zeros(6400, np.float32)]
        t += d + 0.4
    audio = np.concatenate(audio)
    turns = find_turns([audio], len(audio), words, VoiceEncoder("cpu"))
    assert len(turns.speakers) == 2
    assert _same_partition(turns.word_speakers, truth)
    segments = [Segment(words[0].start, words[-1].end, "", words)]
    assert len(split_segments(segments, turns.word_speakers)) == 5  # m | f | m | f f | m


@needs_data
def test_one_voice_many_emotions_is_one_speaker():
    from sentimentogram_cli.speakers import VoiceEncoder, find_turns

    clips = sorted((RAVDESS / "Actor_05").glob("*.opus"))[::7][:8]
    audio, words, t = [np.zeros(8000, np.float32)], [], 0.5
    for path in clips:
        clip = trimmed_clip(path)
        d = len(clip) / 16000
        words.append(Word(" x", t, t + d, 0.9))
        audio += [clip, np.zeros(8000, np.float32)]
        t += d + 0.5
    audio = np.concatenate(audio)
    assert len(find_turns([audio], len(audio), words, VoiceEncoder("cpu")).speakers) == 1


def test_speaker_projection_loads_and_is_sha_checked(tmp_path, monkeypatch):
    from sentimentogram_cli import assets
    from sentimentogram_cli.errors import ModelError
    from sentimentogram_cli.speakers.turns import load_projection, project

    mean, matrix = load_projection()
    assert mean.shape == (256,) and matrix.shape == (256, 256) and np.isfinite(matrix).all()
    x, _ = _voices(2, 3, spread=0.45)
    z = project(x)
    assert z.shape == (6, 256) and np.allclose(np.linalg.norm(z, axis=1), 1.0, atol=1e-5)
    (tmp_path / "models").mkdir()
    data = bytearray(assets.speaker_projection_path().read_bytes())
    data[-100] ^= 1
    (tmp_path / "models" / "speaker_projection.npz").write_bytes(bytes(data))
    monkeypatch.setattr(assets, "PACKAGE_DIR", tmp_path)
    with pytest.raises(ModelError, match="SHA-256"):
        assets.speaker_projection_path()


@needs_data
def test_projection_keeps_two_real_voices_apart():
    """Two men (RAVDESS actors 1 and 3, validation speakers), each in all his emotions: after the
    projection each voice's lines are clearly closer to each other than to the other man's, and
    by a wider margin than the raw embeddings give (measured: 0.21 against 0.12)."""
    from sentimentogram_cli.speakers import SpeakerEncoder
    from sentimentogram_cli.speakers.turns import project

    encoder = SpeakerEncoder("cpu")
    clips = [trimmed_clip(p) for a in ("Actor_01", "Actor_03") for p in sorted((RAVDESS / a).glob("*.opus"))[::6][:10]]
    truth = np.repeat([0, 1], 10)
    same_voice = truth[:, None] == truth[None, :]
    np.fill_diagonal(same_voice, False)
    other_voice = truth[:, None] != truth[None, :]

    def margin(z):
        sim = z @ z.T
        return sim[same_voice].mean() - sim[other_voice].mean()

    raw = encoder.embed(clips)
    assert margin(project(raw)) > 0.15
    assert margin(project(raw)) > margin(raw) + 0.05


# ---- loops across segments (issue 21's two-person scene) ---------------------------------------

def test_find_segment_loops():
    from sentimentogram_cli.transcription.guards import find_segment_loops

    texts = ["I will never yield in it!", "I will never yield in it.", " i will NEVER yield in it", "Yes.",
             "Yes.", "", "", "", "No", "No", "No"]
    assert find_segment_loops(texts) == [(0, 3), (8, 11)]
    assert find_segment_loops(texts, copies=4) == []


_SCENE = [("Actor_03/03-01-05-01-01-01-03.opus", None), ("Actor_08/03-01-02-01-01-01-08.opus", None),
          ("Actor_03/03-01-04-01-01-01-03.opus", 0.6), ("Actor_08/03-01-06-02-01-02-08.opus", None),
          ("Actor_03/03-01-03-02-02-02-03.opus", None), ("Actor_08/03-01-02-01-02-02-08.opus", None),
          ("Actor_08/03-01-08-01-02-02-08.opus", None), ("Actor_03/03-01-03-01-01-02-03.opus", 0.35),
          ("Actor_08/03-01-04-02-01-01-08.opus", None), ("Actor_03/03-01-01-01-01-01-03.opus", None)]
_SCENE_GAPS = [0.3385, 0.4357, 0.653, 0.5259, 0.5649, 0.3177, 0.3699, 0.4523, 0.5511, 0.5]


def _scene() -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Two RAVDESS actors, turn by turn (benchmarks/speakers.py's validation dialogue 3-8):
    "Kids are talking by the door" twice, "Kids are", then four turns of "Dogs are sitting by
    the door", a one-word "Kids", and "Kids ..." twice."""
    import soundfile as sf

    parts, spans, t = [np.zeros(8000, np.float32)], [], 0.5
    for (path, cut), gap in zip(_SCENE, _SCENE_GAPS):
        audio, _ = sf.read(RAVDESS / path, dtype="float32")
        frame = 160
        rms = np.sqrt(np.mean(audio[: len(audio) // frame * frame].reshape(-1, frame) ** 2, axis=1))
        loud = np.flatnonzero(rms > max(rms.max() * 0.06, 1e-4))
        clip = audio[max(0, (loud[0] - 3) * frame): (loud[-1] + 4) * frame]
        clip = clip[: int(cut * 16000)] if cut else clip
        spans.append((t, t + len(clip) / 16000))
        parts += [clip, np.zeros(int(gap * 16000), np.float32)]
        t += len(clip) / 16000 + gap
    return np.concatenate(parts), spans


@needs_data
@pytest.mark.slow
def test_a_phrase_looping_across_segments_is_decoded_again():
    """Whisper base decodes "Kids are talking by the door" in four segments in a row over audio
    whose fourth and fifth turns say "Dogs are sitting by the door"; the guard decodes them again
    without the prompt: the fifth turn's words are its own, and the real repeats (turns 1-2) stay."""
    from sentimentogram_cli.transcription.transcribe import transcribe

    audio, spans = _scene()
    fifth = spans[4]

    def texts_in(t, span):
        return " ".join(s.text for s in t.segments if span[0] - 0.2 < (s.start + s.end) / 2 < span[1] + 0.2).lower()

    unguarded = transcribe(audio, model_name="base", language="en", decode={"guard": False})
    guarded = transcribe(audio, model_name="base", language="en")
    assert "kids" in texts_in(unguarded, fifth)  # the loop this guard is for (fails if Whisper stops looping)
    assert "dogs" in texts_in(guarded, fifth) and "kids" not in texts_in(guarded, fifth)
    assert any("segments in a row" in n for n in guarded.notes)
    assert [("kids" in texts_in(guarded, s)) for s in spans[:2]] == [True, True]


# ---- end to end --------------------------------------------------------------------------------

@needs_data
@pytest.mark.slow
def test_render_a_two_speaker_dialogue(tmp_path, run_cli):
    """The real models on a two-person scene (a man and a woman, RAVDESS): two speakers in the
    document; the page, the VTT and the SRT name both; lines never span a change of speaker;
    restyle --speaker-names renames them everywhere."""
    import json

    import soundfile as sf

    audio, _ = _scene()
    wav = tmp_path / "scene.wav"
    sf.write(wav, audio, 16000)
    code, output = run_cli(["render", str(wav), "--format", "html,json,vtt,srt,ass", "--asr-model", "tiny.en",
                            "--device", "cpu", "--no-cache"])
    assert code == 0, output
    data = json.loads(wav.with_suffix(".json").read_text(encoding="utf-8"))
    assert [s["id"] for s in data["speakers"]] == ["A", "B"]
    assert all(len({w["speaker"] for w in line["words"]}) == 1 == (line["speaker"] is not None)
               for line in data["lines"])
    html = wav.with_suffix(".html").read_text(encoding="utf-8")
    vtt, srt = wav.with_suffix(".vtt").read_text(encoding="utf-8"), wav.with_suffix(".srt").read_text(encoding="utf-8")
    for name in ("Speaker A", "Speaker B"):
        assert 'class="spk-chip" style="--spk:' in html and name in html
        assert f"<v {name}>" in vtt and f"[{name}]" in srt
    code, output = run_cli(["restyle", str(wav.with_suffix(".json")), "--format", "html,vtt,srt",
                            "--speaker-names", "A=Host,B=Guest", "--out", str(tmp_path / "named.html")])
    assert code == 0, output
    assert "<v Host>" in (tmp_path / "named.vtt").read_text(encoding="utf-8")
    assert "[Guest]" in (tmp_path / "named.srt").read_text(encoding="utf-8")
    assert ">Host</span>" in (tmp_path / "named.html").read_text(encoding="utf-8")
    code, output = run_cli(["restyle", str(wav.with_suffix(".json")), "--speaker-names", "C=Nobody",
                            "--out", str(tmp_path / "bad.html")])
    assert code != 0 and "no speaker 'C'" in output and "Traceback" not in output
