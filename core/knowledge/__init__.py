"""Answers from a knowledge base of question → answer pairs: the bot's and the web
page's "ask a question" offer the best answer first, and a counsellor gets the rest."""

from core.knowledge.base import Entry, KnowledgeBase, load_knowledge
from core.knowledge.matcher import Match, Matcher
from core.knowledge.service import AnswerService, FeedbackCount, FeedbackStore, MemoryFeedbackStore

__all__ = [
    "AnswerService",
    "Entry",
    "FeedbackCount",
    "FeedbackStore",
    "KnowledgeBase",
    "Match",
    "Matcher",
    "MemoryFeedbackStore",
    "load_knowledge",
]
