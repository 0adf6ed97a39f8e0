# src/agent: minet-agent, the node's mTLS-only management agent. listenaddr.c is library code (fuzzed through
# libminet.a); the rest is the daemon. Also a test helper, bin/tools/tls-badkey (tests/tools/), a TLS client that
# signs with a key other than its certificate's - no stock client (curl, s_client, Python) can be made to.
AGENT_LIB_SRCS := src/agent/listenaddr.c src/agent/ipc.c src/agent/ratelimit.c
LIB_SRCS   += $(AGENT_LIB_SRCS)
LIB_OBJS   += $(AGENT_LIB_SRCS:%.c=$(OBJ)/%.o)
AGENT_SRCS := $(filter-out $(AGENT_LIB_SRCS),$(wildcard src/agent/*.c))
AGENT_OBJS := $(AGENT_SRCS:%.c=$(OBJ)/%.o)
PROGS      += $(BIN)/minet-agent $(BIN)/tools/tls-badkey

$(BIN)/minet-agent: $(AGENT_OBJS) $(OBJ)/libminet.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -pthread -o $@ $^ $(LDLIBS) -lm

$(OBJ)/tests/tools/%.o: CFLAGS += -Wno-deprecated-declarations
$(BIN)/tools/%: $(OBJ)/tests/tools/%.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
