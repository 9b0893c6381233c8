"""Data: one scanner per real dataset (BU-3DFE, BU-4DFE, Bosphorus, BP4D, folder) with their shared helpers,
the layout registry and sample loading, subject-independent protocols and the rendered-view cache.
Synthetic faces and their writers live in affectvlm.synthetic, which builds on this package, never the reverse."""
