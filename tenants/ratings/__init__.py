"""Ratings and reviews of events: who may rate, moderation, display and statistics.

Rules: PRODUCT.md "Ratings and reviews". Stars count in the aggregates; a comment is shown with
its author's first name and initial once published; averages appear only from 5 ratings.
"""
