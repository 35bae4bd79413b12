"""The database: engines (`db`), tables (`models`) and their migrations, and one module
of keyword-only data-access functions per table or group of tables."""
