"""Stage the shipped bike-sharing data on the local backend and show where it went."""

import pandas as pd

import smkit
from smkit.datasets import dataset_path

session = smkit.Session()  # local backend under ./.smkit (or $SMKIT_HOME)
frame = pd.read_csv(dataset_path("bike_sharing", "train.csv.gz"))
staged = session.stage(
    smkit.StagingSpec(
        source=frame,
        label="count",
        drop=("casual", "registered"),
        datetime_column="datetime",
        keep_datetime=False,
        split=smkit.TimeSplit(column="datetime", validation_days=3),
        label_first=True,
        header=False,
        destination="s3://smkit/examples/bike/",
    )
)
for channel, uri in staged.files.items():
    print(f"{channel:<11} {staged.rows[channel]:>6} rows -> {uri}")
print("local path:", session.store.path_for(staged.files["train"]))
