"""The seed data files: the conversations seed file (:mod:`.seedfile`) and the activities file (:mod:`.activities`)."""
