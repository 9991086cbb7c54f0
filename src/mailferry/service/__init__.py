"""The use cases every interface calls: endpoints, targets, batches, CSV import, scheduling.

Interfaces (CLI, REST API, web console) parse their input, call one service function and
render the result; the service never prints and never reads configuration itself.
"""
