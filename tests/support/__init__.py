"""Test support: real servers started for the test run, and fakes of outside services."""
