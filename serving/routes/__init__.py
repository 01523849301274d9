"""The API's routes, one router per area: score, outcomes, model, health."""
