import pytest
from hypothesis import given
from hypothesis import strategies as st

from smkit import uri
from smkit.errors import InvalidURIError, UnsafeKeyError

buckets = st.from_regex(r"\A[a-z0-9][a-z0-9\-]{1,20}[a-z0-9]\Z")
keys = st.text(
    st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=60
)


@given(buckets, keys)
def test_parse_format_roundtrip(bucket, key):
    text = uri.to_uri(bucket, key)
    parsed = uri.parse(text)
    assert parsed == (bucket, key)
    assert str(parsed) == text


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "s3:/b/k",
        "http://bucket/k",
        "s3://",
        "s3://A/k",
        "s3://b/k",
        "s3://-bad/k",
        "s3://b..c/k",
        42,
    ],
)
def test_malformed_uris_name_the_value(bad):
    with pytest.raises(InvalidURIError) as info:
        uri.parse(bad)
    assert repr(bad) in str(info.value) or str(bad) in str(info.value)


def test_join():
    assert uri.join("s3://b/p/", "a", "/c.csv") == "s3://b/p/a/c.csv"
    assert uri.join("s3://b", "x") == "s3://b/x"
    assert uri.parse("s3://bkt/a/b.csv").name == "b.csv"


@pytest.mark.parametrize("key", ["..", "a/../b", "/x", "./a", "a\\b", "", "a\x00"])
def test_unsafe_keys(key):
    with pytest.raises(UnsafeKeyError):
        uri.check_key(key)


@given(keys)
def test_check_key_never_crashes(key):
    try:
        assert uri.check_key(key) == key
    except UnsafeKeyError:
        pass
