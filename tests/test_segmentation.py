"""Word segmentation batched for the word level: the same words whether segmented here, in
forked processes or on an executor's workers (a Dask cluster's), the model loaded by them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from harness.scoring.segmentation import segment_all

SENTENCES = ["我今天去了学校。", "他跑得很快，我走得很慢。", "2023年NLPCC的评测数据集。", "这句话无法改。"] * 3


class CountingExecutor(ThreadPoolExecutor):
    """An executor that counts the tasks it is given."""

    def __init__(self) -> None:
        super().__init__(max_workers=2)
        self.tasks = 0

    def submit(self, *args, **kwargs):
        self.tasks += 1
        return super().submit(*args, **kwargs)


def test_segmenting_on_an_executor_gives_the_words_segmented_here(tmp_path) -> None:
    here = segment_all(SENTENCES, "thulac", None, jobs=1)
    with CountingExecutor() as executor:
        remote = segment_all(SENTENCES, "thulac", None, executor=executor)
        assert executor.tasks >= 2  # the first task finds no segmenter there, the second brings it
    assert remote == here and len(here) == 4
    assert [word for word, _ in here["我今天去了学校。"]] == ["我", "今天", "去", "了", "学校", "。"]


def test_cached_sentences_are_not_sent_again(tmp_path) -> None:
    segment_all(SENTENCES[:2], "thulac", tmp_path, jobs=1)
    with CountingExecutor() as executor:
        tagged = segment_all(SENTENCES, "thulac", tmp_path, executor=executor)
        sent = executor.tasks
    assert set(tagged) == set(SENTENCES) and sent >= 1
    with CountingExecutor() as executor:
        assert segment_all(SENTENCES, "thulac", tmp_path, executor=executor) == tagged
        assert executor.tasks == 0  # all from the cache
