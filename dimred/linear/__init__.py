"""Reducers built on linear algebra: POD (eigendecomposition, in memory, memory-mapped
or on Dask), PCA (scikit-learn's), the probabilistic-PCA likelihood they share, POD's
solvers, and the quadratic manifold (POD's code with a quadratic decoder)."""
