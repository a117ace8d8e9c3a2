"""The planner: decide whether memory is enough to answer or where to go and look, with the value of
information computed over a belief (docs/planning.md).

- :mod:`robomem.planning.belief`: hypotheses, the belief, observation updates
- :mod:`robomem.planning.prior`: P(room type | category) learned from stored placements
- :mod:`robomem.planning.detection`: P(a look sees the target | it is there) per category and kind of look
- :mod:`robomem.planning.voi`: costs, budgets, actions, the value of information, the VoI decision
- :mod:`robomem.planning.policies`: VoI and the baselines (memory-only, explore-always, threshold)
- :mod:`robomem.planning.recall`, :mod:`robomem.planning.answer_recall`: beliefs from the memory stack
  (``where_is`` + a hazard) or from retrieval's answers (``stack.ask``)
- :mod:`robomem.planning.agent`: the agent loop over recall / path-length / act callables
- :mod:`robomem.planning.map_paths`: path lengths and paths on the robot's own map
"""
from robomem.planning.agent import CANNOT_ANSWER, Agent, Episode, Outcome
from robomem.planning.answer_recall import AnswerRecall, belief_from_answer
from robomem.planning.belief import (Belief, Hypothesis, certain_at, still_there_probability, update_after_look,
                                    view_detection, viewpoint)
from robomem.planning.detection import DetectionModel
from robomem.planning.map_paths import MapPathLength
from robomem.planning.errors import InvalidBeliefError, InvalidPlanningSettingError, UnsupportedQuestionError
from robomem.planning.prior import DEFAULT_ROOM_PRIOR, SemanticPrior, room_probabilities
from robomem.planning.voi import (Action, Budget, CostModel, Decision, ScoredAction, candidate_actions, decide_voi,
                                  score_actions)

from robomem.planning.policies import ExploreAlwaysPolicy, MemoryOnlyPolicy, ThresholdPolicy, VoIPolicy, policy_by_name
from robomem.planning.recall import MemoryRecall, RoomInfo, parse_question, parse_where_question

__all__ = ["AnswerRecall", "belief_from_answer", "Agent", "Episode", "Outcome", "CANNOT_ANSWER", "ExploreAlwaysPolicy", "MemoryOnlyPolicy",
           "ThresholdPolicy", "VoIPolicy", "policy_by_name", "MemoryRecall", "RoomInfo", "parse_where_question", "parse_question",
           "Belief", "Hypothesis", "certain_at", "still_there_probability", "update_after_look",
           "view_detection", "viewpoint",
           "InvalidBeliefError", "InvalidPlanningSettingError", "UnsupportedQuestionError",
           "DEFAULT_ROOM_PRIOR", "SemanticPrior", "room_probabilities",
           "Action", "Budget", "CostModel", "Decision", "ScoredAction", "candidate_actions", "decide_voi",
           "score_actions", "MapPathLength", "DetectionModel"]
