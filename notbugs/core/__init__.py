"""The floor everything stands on: errors, typed values and their statistics, input checks, seeding, progress,
precision, the published numbers and safe file storage. Imports nothing of notbugs above it."""
