# Sourced by build.sh / run.sh / selftest.sh: the two remoting-client versions the driver is built for.
# 4.9.8 is the newest 4.9.x on Maven Central; 5.5.0 the newest 5.x whose rocketmq-client resolves there
# (5.5.1 is listed for some modules but rocketmq-client 5.5.1 is not published).
RMQ_CLIENT_V4="${RMQ_CLIENT_V4:-4.9.8}"
RMQ_CLIENT_V5="${RMQ_CLIENT_V5:-5.5.0}"
