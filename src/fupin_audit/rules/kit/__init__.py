"""What rule packs share that is not a fact about the data: message formatting and `related` lists."""
