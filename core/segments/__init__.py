"""Segments: the onboarding questionnaire, behavioural tags and segment definitions over them
(issue 18). Contests, tasks, quizzes and rewards target a segment through ``is_eligible``."""
