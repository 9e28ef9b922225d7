"""From the screen to the door: video linkage and camera drivers, rosters, the notifications
that reach grid workers and their queue, and field links. Services over ``store``; the pure
parts (who is on call, what a message says, what a vendor's request looks like) take their
inputs and ``now`` and return decisions."""
