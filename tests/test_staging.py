import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import smkit
from smkit.errors import ColumnNotFoundError, SourceNotFoundError, SplitError
from smkit.staging import RandomSplit, StagingSpec, StratifiedSplit, TimeSplit, split_indices


def frame(n, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "y": rng.integers(0, 3, size=n),
            "when": pd.date_range("2024-01-01", periods=n, freq="7h"),
        }
    )


splits = st.one_of(
    st.builds(
        RandomSplit,
        validation=st.floats(0, 0.45),
        test=st.floats(0, 0.45),
        seed=st.integers(0, 2**32 - 1),
    ),
    st.builds(
        StratifiedSplit,
        validation=st.floats(0, 0.45),
        test=st.floats(0, 0.45),
        seed=st.integers(0, 2**32 - 1),
        column=st.just("y"),
    ),
    st.builds(
        TimeSplit,
        column=st.just("when"),
        validation_days=st.integers(0, 5),
        test_days=st.integers(0, 3),
    ),
)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(5, 400), split=splits)
def test_split_is_a_deterministic_partition(n, split):
    df = frame(n)
    try:
        parts = split_indices(df, split)
    except SplitError:
        return  # e.g. every row held out: refused, never silently wrong
    allrows = np.concatenate(list(parts.values()))
    assert sorted(allrows.tolist()) == list(range(n))  # none lost, none duplicated
    again = split_indices(df, split)
    assert {k: v.tolist() for k, v in parts.items()} == {k: v.tolist() for k, v in again.items()}


def test_fractions_must_sum_to_one():
    with pytest.raises(SplitError, match="sum to 1.1"):
        RandomSplit(train=0.8, validation=0.2, test=0.1)
    with pytest.raises(SplitError):
        RandomSplit(validation=1.5)
    RandomSplit(train=0.7, validation=0.2, test=0.1)


def test_time_split_holds_out_last_days_of_each_month():
    df = pd.DataFrame({"when": pd.date_range("2024-01-01", "2024-02-19 23:00", freq="h")})
    df = df[df["when"].dt.day <= 19]
    parts = split_indices(df.reset_index(drop=True), TimeSplit("when", validation_days=3))
    val_days = set(df.iloc[parts["validation"]]["when"].dt.day)
    assert val_days == {17, 18, 19}
    assert set(df.iloc[parts["train"]]["when"].dt.day) == set(range(1, 17))


def test_stage_writes_label_first_channels(local_session, tmp_path):
    src = tmp_path / "d.csv"
    frame(100).to_csv(src, index=False)
    staged = local_session.stage(
        StagingSpec(
            source=src,
            label="y",
            label_first=True,
            header=False,
            datetime_column="when",
            keep_datetime=False,
            split=RandomSplit(validation=0.2, seed=1),
            destination="s3://bkt/ds/",
        )
    )
    assert staged.rows == {"train": 80, "validation": 20}
    assert staged.channels["train"] == "s3://bkt/ds/train/"
    body = local_session.store.get_bytes(staged.files["train"]).decode()
    first = body.splitlines()[0].split(",")
    assert len(body.splitlines()) == 80
    assert first[0] in {"0", "1", "2"}  # label first, no header
    assert staged.columns[0] == "y" and "when" not in staged.columns
    assert "when_hour" in staged.columns
    again = local_session.stage(
        StagingSpec(
            source=src,
            label="y",
            label_first=True,
            header=False,
            datetime_column="when",
            keep_datetime=False,
            split=RandomSplit(validation=0.2, seed=1),
            destination="s3://bkt/ds/",
        )
    )
    assert again.uploaded == {"train": False, "validation": False}


def test_parquet_output(local_session):
    staged = local_session.stage(
        StagingSpec(source=frame(30), output_format="parquet", destination="s3://bkt/pq/")
    )
    raw = local_session.store.get_bytes(staged.files["train"])
    assert raw[:4] == b"PAR1"


def test_bad_input_names_the_value(local_session, tmp_path):
    with pytest.raises(SourceNotFoundError, match="missing.csv"):
        local_session.stage(StagingSpec(source=tmp_path / "missing.csv"))
    with pytest.raises(ColumnNotFoundError, match="'quality'"):
        local_session.stage(StagingSpec(source=frame(10), label="quality"))
    assert not list((local_session.backend.root / "s3").glob("**/*.csv"))  # nothing half-written


@pytest.mark.aws
def test_same_keys_and_bytes_on_both_backends(local_session, aws_session, tmp_path):
    spec = StagingSpec(
        source=frame(50),
        label="y",
        split=RandomSplit(validation=0.3, seed=3),
        destination="s3://smkit-test/same/",
    )
    a = local_session.stage(spec)
    b = aws_session.stage(spec)
    assert a.files == b.files
    for uri in a.files.values():
        assert local_session.store.get_bytes(uri) == aws_session.store.get_bytes(uri)
    assert b.uploaded == {"train": True, "validation": True}
    assert aws_session.stage(spec).uploaded == {"train": False, "validation": False}


@pytest.mark.aws
def test_large_file_goes_multipart_on_aws(aws_session, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(np.random.default_rng(0).bytes(9 << 20))
    info, sent = aws_session.store.put_file("s3://smkit-test/big/big.bin", big)
    assert sent
    ops = [r.operation for r in aws_session.plan()]
    assert "CreateMultipartUpload" in ops and "CompleteMultipartUpload" in ops
    assert aws_session.store.get_bytes("s3://smkit-test/big/big.bin") == big.read_bytes()
    assert aws_session.store.head("s3://smkit-test/big/big.bin").sha256 == info.sha256


def test_session_api_example(tmp_path):
    s = smkit.Session(root=tmp_path / "root")
    staged = s.stage(
        smkit.StagingSpec(
            source=frame(20), label="y", split=smkit.RandomSplit(validation=0.25, seed=0)
        )
    )
    assert staged.files["train"].startswith("s3://smkit/smkit/staging/data/")


def test_staged_inputs_carry_content_type(local_session):
    from smkit.training import TrainingSpec

    staged = local_session.stage(StagingSpec(source=frame(20), destination="s3://bkt/ct/"))
    assert staged.inputs["train"].content_type == "text/csv"
    spec = TrainingSpec(algorithm="xgboost", inputs=staged)
    assert spec.inputs["train"].uri == staged.channels["train"]
    assert spec.inputs["train"].content_type == "text/csv"
