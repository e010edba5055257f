"""RDF terms and files: the bottom of the stack, knowing nothing of stores or questions."""
