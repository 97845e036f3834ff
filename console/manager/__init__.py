"""The manager's console: thresholds editor with what-if replay, reports with charts (API and pages)."""

from fastapi import APIRouter

from console.manager import pages, reports_api, review, thresholds_api

router = APIRouter()
router.include_router(thresholds_api.router)
router.include_router(reports_api.router)
router.include_router(review.router)
router.include_router(pages.router)

__all__ = ["router"]
