//! Pixels: decoding for preview, burned-in text risk, and rectangle masks applied to every frame.
