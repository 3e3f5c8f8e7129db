"""The seed's image workflow run locally: serialize → classify → confidence filter.

Run: ``python examples/workflow_local.py`` (uses a fake classifier; point ``predict`` at a real
endpoint with ``smkit.workflow.handlers.classify`` once one is deployed).
"""

from __future__ import annotations

import tempfile

import smkit
from smkit.workflow import image_classification_workflow
from smkit.workflow.handlers import make_classify


def fake_predict(endpoint: str, image: bytes, content_type: str) -> list[float]:
    return [0.93, 0.07]


def main() -> None:
    root = tempfile.mkdtemp(prefix="smkit-wf-")
    with smkit.Session(root=root) as session:
        session.store.put_bytes("s3://images/test/bicycle.png", b"\x89PNG...")
        wf = image_classification_workflow("images", endpoint_name="img-clf", threshold=0.9)
        execution = session.run_workflow(
            wf,
            {"s3_uri": "s3://images/test/bicycle.png"},
            handlers={
                "serializeImageData": _serialize_from(session),
                "classify": make_classify(fake_predict),
            },
        )
        print(execution.status, execution.output["body"]["inferences"])
        print(execution.diagram())


def _serialize_from(session: smkit.Session):
    import base64

    def serialize(event, context):
        data = session.store.get_bytes(event["s3_uri"])
        return {"statusCode": 200, "body": {"image_data": base64.b64encode(data).decode()}}

    return serialize


if __name__ == "__main__":
    main()
