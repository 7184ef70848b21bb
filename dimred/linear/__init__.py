"""Linear reducers: POD (eigendecomposition, in memory, memory-mapped or on Dask), PCA
(scikit-learn's), the probabilistic-PCA likelihood they share, and POD's solvers."""
