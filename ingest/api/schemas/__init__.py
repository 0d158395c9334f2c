"""The read API's request and response bodies, and how stored documents become them."""
