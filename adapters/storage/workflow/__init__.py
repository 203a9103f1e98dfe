"""The request workflow's storage: `tables` (revision 0700), `documents` (the JSON form of
the domain's dataclasses) and `store` (`SqlWorkflowStore`, in the SQL unit of work)."""

from __future__ import annotations

from adapters.storage.workflow.store import SqlWorkflowStore
from adapters.storage.workflow.tables import DOCUMENT_TABLES, workflow_item_links

__all__ = ["DOCUMENT_TABLES", "SqlWorkflowStore", "workflow_item_links"]
