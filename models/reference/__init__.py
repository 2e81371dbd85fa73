"""Reference CosyVoice2 inference over the model-directory graphs (numpy + onnxruntime)."""
