"""The services under test: the same routes written sync (`def`) and async (`async def`)."""
