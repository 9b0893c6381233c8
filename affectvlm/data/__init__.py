"""Data: dataset scanners (BU-3DFE, BU-4DFE, Bosphorus, BP4D, folder), protocols, the rendered-view cache and
synthetic faces from the ICT face model."""
