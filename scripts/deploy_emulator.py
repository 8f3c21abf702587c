"""The emulator (ministack) as `make deploy-local` runs it: with IAM enforced (AUTH=true),
so each function runs as its own role and a permission the template forgot fails the smoke
suite, and with one correction, checked against AWS's service authorization reference:
AWS authorizes these batch calls with the single call's action, while the emulator asks
for an action of the batch's own name, which no policy can grant on AWS.
"""

import sys

from ministack.app import main
from ministack.core import iam_actions

SAME_AS = {
    "sns:PublishBatch": "sns:Publish",
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}
_extract = iam_actions.extract_iam_action


def extract_iam_action(*args, **kwargs):
    action = _extract(*args, **kwargs)
    return SAME_AS.get(action, action)


iam_actions.extract_iam_action = extract_iam_action

if __name__ == "__main__":
    sys.exit(main())
