# One small image with the namesrv, broker and operator commands (the operator creates name
# servers and brokers from this same image).
#   docker build -t rocketmq-ts .
#   docker run --rm rocketmq-ts namesrv
#   docker run --rm -v $PWD/broker.conf:/etc/rocketmq/broker.conf rocketmq-ts broker -c /etc/rocketmq/broker.conf
#   docker run --rm -v $HOME/.kube:/home/rocketmq/.kube:ro rocketmq-ts operator --namespaces mq   (in a cluster: helm install, charts/)
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY broker ./broker
COPY operator ./operator
RUN npm run build

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
# Data lives under /home/rocketmq/store by default (storePathRootDir); mount a volume there.
RUN mkdir -p /home/rocketmq/store && chown -R node:node /home/rocketmq
USER node
ENV HOME=/home/rocketmq
# node is PID 1 and handles SIGTERM/SIGINT itself (graceful unregister, flush, exit 0).
ENTRYPOINT ["node", "/app/dist/broker/src/cli/rmq.js"]
CMD ["broker"]
# 9876/9877 name server (+health), 10909-10912 broker (fast, health, main, HA), 8080 operator HTTP.
EXPOSE 8080 9876 9877 10909 10910 10911 10912
