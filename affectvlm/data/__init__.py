"""Data: synthetic faces from the ICT face model (dataset readers and protocols come later)."""
