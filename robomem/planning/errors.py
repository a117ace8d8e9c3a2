"""Errors of the planner. Bad-input errors are ``ValueError`` subclasses (see robomem.errors)."""
from robomem.errors import InvalidInputError, RobomemError


class InvalidBeliefError(InvalidInputError):
    """A belief's probabilities are not in [0, 1], do not sum to at most 1, or keys repeat."""


class InvalidPlanningSettingError(InvalidInputError):
    """A cost weight, budget or detection probability is negative, non-finite or out of range."""


class UnsupportedQuestionError(RobomemError, ValueError):
    """The question could not be parsed or is of a kind the agent cannot act on. The agent
    answers "cannot answer" and does not move."""
