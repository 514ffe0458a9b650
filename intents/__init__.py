"""Chinese NLU for the insurance customer-service bot: normalization, intents, FAQ, slots.

Stand-alone library (imports nothing of the project). Load explicitly::

    from intents import NLU, Prediction
    nlu = NLU.load()
    p = nlu.predict("我妈昨天在家跋倒了")
"""

from intents.context import Context, FollowUp
from intents.facts import MessageFacts
from intents.model import NLU, ModelError, Prediction

__all__ = ["NLU", "Context", "FollowUp", "MessageFacts", "ModelError", "Prediction"]
