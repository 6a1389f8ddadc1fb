"""In-process adapters for every port: the embedded default, and the fakes the tests use."""
