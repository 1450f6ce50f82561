"""The emotion stage: encoder features, sliding windows, the fused head, and per-word emotion.

Data flows through it in this order: ``features`` (Whisper-encoder frames, MiniLM tokens) →
``windows`` (where each window lies and which words it covers) → ``fusion`` + ``head`` (the fused
model and its checkpoint) → ``recognise`` (windows of a recording → emotion per word).
"""
