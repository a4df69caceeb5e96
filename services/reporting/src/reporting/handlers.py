"""No commands here: operator actions such as rebuilding a projection from offset 0."""
