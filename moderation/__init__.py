"""Moderation: the queue, screening, decisions, appeals, the audit log and the transparency page.

It acts on consult's content only through ``consult.services`` and reads through ``consult.queries``.
"""
