"""Reading /metrics in tests: samples by name and labels, and how much they moved."""

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Return every sample of a /metrics answer, keyed by (name, sorted labels)."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels) -> float:
    """Return one sample's value; a series not there yet is 0."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels) -> float:
    """Return how much a sample moved between two readings (counters are process-wide)."""
    return value(after, name, **labels) - value(before, name, **labels)


def label_values(samples: Samples, name: str, label: str) -> set[str]:
    """Return the values one label takes across a metric's samples."""
    return {dict(labels)[label] for (sample, labels) in samples if sample == name}
