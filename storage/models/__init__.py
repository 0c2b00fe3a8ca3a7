"""Every table, imported here so that `Base.metadata` is complete for Alembic."""

from storage.models.base import Base
from storage.models.campaigns import Campaign, CampaignTarget, CareGreeting, OfferConversion
from storage.models.complaints import Complaint, ComplaintEvent
from storage.models.customers import Customer, CustomerIdentity, Holding, Product
from storage.models.inbox import InboxConversation, InboxMessage
from storage.models.outbox import OutboxMessage
from storage.models.questionnaires import Questionnaire, QuestionnaireQuestion, SurveyAnswer
from storage.models.routing import AgentState, Contact, Queue
from storage.models.surveys import Alert, ComplaintTimer, Survey
from storage.models.telegram import (
    TelegramBlockedChat,
    TelegramConversation,
    TelegramRejectedUpdate,
    TelegramUpdate,
)
from storage.models.tiers import MonthlySpend, TierProposal, TierReview
from storage.models.users import ApiToken, AuditEntry, LoginFailure, User, UserSession

__all__ = [
    "AgentState",
    "Alert",
    "ApiToken",
    "AuditEntry",
    "Base",
    "Campaign",
    "CampaignTarget",
    "CareGreeting",
    "Complaint",
    "ComplaintEvent",
    "ComplaintTimer",
    "Contact",
    "Customer",
    "CustomerIdentity",
    "Holding",
    "InboxConversation",
    "InboxMessage",
    "LoginFailure",
    "MonthlySpend",
    "OfferConversion",
    "OutboxMessage",
    "Product",
    "Questionnaire",
    "QuestionnaireQuestion",
    "Queue",
    "Survey",
    "SurveyAnswer",
    "TelegramBlockedChat",
    "TelegramConversation",
    "TelegramRejectedUpdate",
    "TelegramUpdate",
    "TierProposal",
    "TierReview",
    "User",
    "UserSession",
]
