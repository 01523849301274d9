"""What analysts read: the HTML report of a model version and the case file of one declaration."""
