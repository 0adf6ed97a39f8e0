# src/pki: the CA (minet pki) and the CRL store the agent checks against. Library code: unit tests and fuzzers
# link it through libminet.a.
PKI_SRCS := $(wildcard src/pki/*.c)
LIB_SRCS += $(PKI_SRCS)
LIB_OBJS += $(PKI_SRCS:%.c=$(OBJ)/%.o)
