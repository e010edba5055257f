"""Helpers the tests share: servers on loopback, answers, kill points, report differences."""
