"""One contract suite for the store and catalog, run against both backends."""

import pytest

from smkit.backends.local.catalog import LocalCatalog
from smkit.backends.local.store import LocalStore
from smkit.testing.contract import CatalogContract, StoreContract


class TestLocalStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        return LocalStore(tmp_path / "s3")


class TestLocalCatalog(CatalogContract):
    @pytest.fixture
    def catalog(self, tmp_path):
        cat = LocalCatalog(tmp_path / "catalog.db")
        yield cat
        cat.close()


@pytest.mark.aws
class TestAwsStore(StoreContract):
    @pytest.fixture
    def store(self, aws_backend):
        return aws_backend.store


@pytest.mark.aws
class TestAwsCatalog(CatalogContract):
    @pytest.fixture
    def catalog(self, aws_backend):
        return aws_backend.catalog
