"""`turnflow import`: existing chats from other products' databases (or a JSON Lines file) brought into turnflow."""
